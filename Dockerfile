# Ashyq production image: one process per container (`ashyq web`, `ashyq worker`, `ashyq migrate`).
# postgresql-client: `ashyq backup` runs pg_dump (bookworm ships 15, the compose file's server).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg postgresql-client \
    && rm -rf /var/lib/apt/lists/*

# Non-editable install; the sources are removed so only site-packages serves the code.
COPY . /tmp/src
RUN pip install --no-cache-dir '/tmp/src[bundled-model]' \
    && rm -rf /tmp/src

RUN useradd --system --uid 10001 --user-group --create-home ashyq \
    && mkdir -p /data \
    && chown ashyq:ashyq /data

ENV ASHYQ_ENVIRONMENT=production \
    ASHYQ_DATA_DIR=/data \
    ASHYQ_HOST=0.0.0.0 \
    ASHYQ_PORT=8000

USER ashyq
WORKDIR /home/ashyq
VOLUME /data
EXPOSE 8000

CMD ["ashyq", "web"]
