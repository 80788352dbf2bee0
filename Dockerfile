# virt: replay recorded HTTP(S) traffic in CI. Settings are VIRT_* environment variables, one per
# option of `virt serve` (docs/container.md). Build with `make image` (docker build or buildah).
ARG BASE=python:3.11-slim

# 1. wheels of virt and its dependencies. pip finds them as configured where it runs: make image
# mounts the host's pip settings (/etc/pip.conf) and the files they name for this stage only
FROM ${BASE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
# the dependencies in a layer of their own: a change to virt's code does not fetch them again
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && pip wheel --no-cache-dir --disable-pip-version-check --use-pep517 --wheel-dir /wheels -r requirements.txt
COPY virt ./virt
RUN pip wheel --no-cache-dir --disable-pip-version-check --use-pep517 --no-deps --wheel-dir /wheels . \
    && sha256sum /wheels/*.whl > /wheels.sha256

# 2. the wheels installed into a slim Python, run by a user who is not root
FROM ${BASE}
# the wheels' checksums first: new wheels make a new layer here, so a layer cache never installs
# old ones (the bind mount below is not part of the cache key)
COPY --from=build /wheels.sha256 /usr/local/lib/virt/wheels.sha256
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --disable-pip-version-check --no-index --find-links /wheels virt \
    && groupadd --system --gid 10001 virt \
    && useradd --system --uid 10001 --gid virt --create-home --home-dir /home/virt virt \
    && mkdir /recordings /ca \
    && chown virt:virt /recordings /ca
COPY container/healthcheck.py /usr/local/lib/virt/healthcheck.py
ENV VIRT_MODE=replay \
    VIRT_HOST=0.0.0.0 \
    VIRT_PORT=8000 \
    VIRT_PROXY_PORT=8080 \
    VIRT_DB=/recordings/virt.db \
    VIRT_CONFDIR=/ca \
    PYTHONUNBUFFERED=1
USER virt
WORKDIR /home/virt
# the recordings (VIRT_DB) and the CA other services trust (VIRT_CONFDIR)
VOLUME ["/recordings", "/ca"]
# the direct door (base URL) and the proxy door (HTTP_PROXY/HTTPS_PROXY)
EXPOSE 8000 8080
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "/usr/local/lib/virt/healthcheck.py"]
ENTRYPOINT ["virt"]
CMD ["serve"]
