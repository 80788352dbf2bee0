from virt.cli import main

main()
