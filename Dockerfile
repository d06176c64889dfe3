# The AIDE-in-chat service image: the `aide` command with Node 20 and Debian's Python ML stack (for the
# bubblewrap sandbox fallback). One image for every role; docker-compose.yml picks the command.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap python3 python3-numpy python3-pandas python3-sklearn python3-scipy ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund
COPY . .
ENV NODE_ENV=production
ENTRYPOINT ["node", "bin/aide.mjs"]
CMD ["--help"]
