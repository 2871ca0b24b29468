# Sáng kiến Bot: the sangkien command in an image (docs/DEPLOY.md, "Docker Compose").
#   docker build -t sangkien-bot .
#   docker run --rm --env-file .env -v sangkien-data:/data sangkien-bot              (long polling, SQLite in /data)
#   docker compose up -d                                                              (webhook, PostgreSQL, Redis)
# No HEALTHCHECK here: /healthz exists only in webhook mode (`run --webhook`), and the default command is long
# polling, which has no HTTP port. compose.yaml checks /healthz for its webhook service.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY forms ./forms
COPY storage ./storage
COPY reports ./reports
RUN python -m venv /opt/sangkien \
    && /opt/sangkien/bin/pip install .

FROM python:3.11-slim
# SANGKIEN_DATA_DIR: the SQLite database (when DATABASE_URL is not set) is /data/sangkien.db.
# LOCALES_DIR: the Vietnamese and English messages, read from the .po files at start.
ENV PATH=/opt/sangkien/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SANGKIEN_DATA_DIR=/data \
    LOCALES_DIR=/opt/sangkien/locales \
    MPLCONFIGDIR=/tmp/matplotlib \
    WEBHOOK_PORT=8080
RUN groupadd --system --gid 10001 sangkien \
    && useradd --system --uid 10001 --gid sangkien --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin sangkien \
    && install -d -m 0750 -o sangkien -g sangkien /data
COPY --from=build /opt/sangkien /opt/sangkien
COPY locales /opt/sangkien/locales
COPY --chmod=0755 deploy/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
USER sangkien
WORKDIR /data
VOLUME ["/data"]
# the webhook server (run --webhook with WEBHOOK_HOST=0.0.0.0); long polling opens no port
EXPOSE 8080
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["run"]
