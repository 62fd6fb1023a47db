#!/bin/sh
# Pins training/Dockerfile's base image to the current digest of a tag.
#
#     scripts/pin-base-image.sh [IMAGE:TAG]     # default: the tag the Dockerfile has now
#
# Resolves the tag's multi-architecture index digest with `docker buildx imagetools inspect`
# (needs Docker with buildx and access to the registry, no pull) and rewrites the
# `ARG PYTHON_IMAGE=...` line to IMAGE:TAG@sha256:<digest>. Review the diff, rebuild and run
# a job before committing: a new digest is a new base (Debian and Python patch updates).
set -eu

dockerfile="$(dirname "$0")/../training/Dockerfile"
current=$(sed -n 's/^ARG PYTHON_IMAGE=//p' "$dockerfile")
if [ -z "$current" ]; then
    echo "no 'ARG PYTHON_IMAGE=' line in $dockerfile" >&2
    exit 1
fi
tag=${1:-${current%@*}}

digest=$(docker buildx imagetools inspect "$tag" --format '{{json .Manifest.Digest}}' | tr -d '"')
case "$digest" in
    sha256:????????????????????????????????????????????????????????????????) ;;
    *)
        echo "could not resolve a digest for $tag (got: '$digest')" >&2
        exit 1
        ;;
esac

pinned="$tag@$digest"
sed -i.bak "s|^ARG PYTHON_IMAGE=.*|ARG PYTHON_IMAGE=$pinned|" "$dockerfile"
rm -f "$dockerfile.bak"
if [ "$pinned" = "$current" ]; then
    echo "already pinned: $pinned"
else
    echo "pinned $pinned (was $current)"
fi
