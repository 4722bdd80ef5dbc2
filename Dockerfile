# Cairn's controller image.
#
# One stage, no build step: Node 24 strips TypeScript types by itself, and the sources are
# written for that (erasableSyntaxOnly, .ts import extensions), so the image runs the very files
# the tests run. Stripping keeps every line and column in place, so stack traces point into
# src/ without source maps, and no devDependency (typescript, the pinned `node` toolchain)
# ever enters the image. Type checking happens in CI, before an image is built.
#
# The Node version matches the `node` devDependency, so the controller runs on the runtime it
# was tested with; test/unit/deploy/dockerfile.test.ts keeps the two in step.
ARG NODE_VERSION=24.21.0
# The Go the rendering helper is built and tested with (go/render/go.mod's go line or newer).
ARG GO_VERSION=1.26.8

# cairn-render, the impact preview's rendering helper (go/render): Helm's and kustomize's own
# engines at the versions Flux's controllers use. Static (CGO off), so it runs on the slim image.
FROM golang:${GO_VERSION}-bookworm AS render
WORKDIR /src
COPY go/render/ ./go/render/
COPY scripts/build-render.sh ./scripts/
RUN bash scripts/build-render.sh /out

FROM node:${NODE_VERSION}-bookworm-slim

# git and ssh drive the Git commits of an upgrade; ca-certificates lets git verify HTTPS remotes
# (Node carries its own CA bundle, git does not); tini reaps the ssh processes git leaves behind
# when it is killed on a timeout, which Node as PID 1 would leave as zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git openssh-client tini \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV NODE_ENV=production

COPY package.json package-lock.json ./
# No runtime dependency has an install script; the only one in the lock belongs to the `node`
# devDependency, which --omit=dev leaves out anyway.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf /root/.npm

COPY src/ ./src/
# The CRDs travel with the code that reads them, so an install step can apply the matching
# version from the same image.
COPY crds/ ./crds/
COPY --from=render /out/cairn-render /usr/local/bin/cairn-render

# The root filesystem is read-only in the cluster; /tmp is an emptyDir. git and ssh write their
# config, known hosts and temporary files under HOME, and the system-wide git config is ignored
# so the behaviour does not depend on the base image.
ENV HOME=/tmp \
    TMPDIR=/tmp \
    GIT_CONFIG_NOSYSTEM=1 \
    GIT_TERMINAL_PROMPT=0 \
    CAIRN_RENDER_HELPER=/usr/local/bin/cairn-render

# ssh refuses to run for a uid without a passwd entry ("No user exists for uid"), so the
# numeric user gets one; HOME stays /tmp, the writable emptyDir.
RUN echo "cairn:x:65532:65532:cairn:/tmp:/usr/sbin/nologin" >> /etc/passwd \
 && echo "cairn:x:65532:" >> /etc/group

# A numeric user, so the kubelet can verify runAsNonRoot without a passwd lookup.
USER 65532:65532

ENTRYPOINT ["/usr/bin/tini", "--", "node", "src/main.ts"]
