# The Switchboard broker as a container image: the compiled JavaScript run by plain node, as a non-root user.
#   docker build -t switchboard .
#   docker run -p 8080:8080 -e JWT_SECRET=... switchboard               # the broker (README "Container image")
#   docker run --rm -it switchboard sub 'chat.>' --url ws://host:8080/   # the terminal client, same image
# The build steps are scripts/build-dist.sh, which packages/broker/test/e2e/container-image.test.ts also runs
# (no Docker engine needed) before starting its output with the command below.

FROM node:20-bookworm-slim AS build
ARG PNPM_VERSION=12.4.2
RUN npm install --global pnpm@${PNPM_VERSION}
WORKDIR /src
# Dependencies first, from the lockfile alone, so this layer is reused until the lockfile changes.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm fetch
COPY . .
RUN sh scripts/build-dist.sh /out

FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080
WORKDIR /app
# Owned by root and only readable by the broker's user: the process cannot rewrite its own code.
COPY --from=build /out /app
RUN ln -s /app/bin/switchboard.js /usr/local/bin/switchboard
USER node
EXPOSE 8080
# Ready, not merely alive: /readyz sends a canary through the engine (Redis) and back (docs/operations.md).
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM drains queues and closes clients with 4100 (docker stop: give it --time beyond SHUTDOWN_DRAIN).
ENTRYPOINT ["node", "dist/cli.js"]
CMD []
