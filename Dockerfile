# The AIDE-in-chat service image: the `aide` command as compiled JavaScript with Node 20 and Debian's Python ML
# stack (for the bubblewrap sandbox fallback). One image for every role; docker-compose.yml picks the command.

# Build stage: every dependency (TypeScript included), then the compiled build, type-checked (dist/).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs scripts/
COPY src src
COPY runner runner
COPY bots bots
COPY cli cli
COPY config config
COPY examples examples
RUN node scripts/build.mjs --check

# Runtime stage: production dependencies and dist/ only; no sources, no TypeScript, no tsx. bin/aide.mjs finds
# no sources beside dist/ and runs it as it is.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap python3 python3-numpy python3-pandas python3-sklearn python3-scipy ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist dist
COPY bin bin
ENV NODE_ENV=production
ENTRYPOINT ["node", "bin/aide.mjs"]
CMD ["--help"]
