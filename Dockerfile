# mcu-hub in a container: python-slim, a non-root user, the database on a volume.
#   docker build -t mcu-hub .
#   docker run -d --name mcu-hub -v mcu-data:/data mcu-hub
# Put config.toml into the volume (storage.path relative to it lands there too).
FROM python:3.11-slim

RUN useradd --create-home --uid 10001 mcu && mkdir /data && chown mcu:mcu /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY templates ./templates
RUN pip install --no-cache-dir . && rm -rf /root/.cache

USER mcu
VOLUME /data
ENV MCU_CONFIG=/data/config.toml PYTHONUNBUFFERED=1
STOPSIGNAL SIGTERM
CMD ["sh", "-c", "mcu-hub check-config \"$MCU_CONFIG\" && exec mcu-hub run -c \"$MCU_CONFIG\""]
