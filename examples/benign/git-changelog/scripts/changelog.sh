#!/bin/sh
# Print the commit subjects since the most recent tag.
set -eu
last_tag=$(git describe --tags --abbrev=0 2>/dev/null || true)
if [ -n "$last_tag" ]; then
  git log --no-merges --pretty='- %s' "$last_tag"..HEAD
else
  git log --no-merges --pretty='- %s'
fi
