"""Record with mitmdump: mitmdump -s addons/record.py --set virt_db=recordings/api.db"""

from virt.capture.addon import Recorder

addons = [Recorder()]
