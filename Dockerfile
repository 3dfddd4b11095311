# sotabot: one process (`sotabot run`) holding the scheduler, Slack, Discord and delivery.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY digests ./digests
COPY sources ./sources
COPY storage ./storage
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLBACKEND=Agg \
    SOTABOT_SERVER__HOST=0.0.0.0
COPY --from=build /install /usr/local
RUN useradd --system --uid 10001 --home-dir /data --create-home sotabot
USER sotabot
WORKDIR /data
# /data holds sotabot.db (embedded SQLite) and an optional sotabot.toml.
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4)" || exit 1
ENTRYPOINT ["sotabot"]
CMD ["run"]
