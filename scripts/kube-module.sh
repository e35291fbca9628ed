# Sourced by build-control-plane.sh and build-node.sh: the Kubernetes wrapper module and the version ldflags.
# Needs KUBE_VERSION and die(); prepare_kube_module leaves the shell in the module directory.

# A wrapper module that requires k8s.io/kubernetes at the pinned tag with its staging modules replaced by their
# published versions (k8s.io/kubernetes itself is not meant to be required; its go.mod points them at ./staging).
prepare_kube_module() { # $1 module directory
  local dir="$1"
  local staging="v0.${KUBE_VERSION#v1.}"
  mkdir -p "$dir"; cd "$dir"
  # The staging module list is read from the tag's own go.mod, so it is right for any minor.
  # The checksum database does not answer for k8s.io/kubernetes tags through this proxy (404 on
  # /sumdb/.../lookup), so checksum verification is off for this wrapper module only; go.sum is still written.
  export GOSUMDB=off
  [[ -f go.mod ]] && return
  local gomod dl
  dl="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" 2>&1 || true)"
  gomod="$(sed -n 's/^\s*"GoMod": "\(.*\)",\?$/\1/p' <<<"$dl")"
  [[ -f "$gomod" ]] || die "could not download k8s.io/kubernetes@$KUBE_VERSION go.mod: $(sed -n 's/^\s*"Error": //p' <<<"$dl")"
  local mods
  mods="$(sed -n 's#^\s*\(k8s\.io/[^ \t]*\)\s*=>\s*\./staging/.*#\1#p' "$gomod" | sort -u)"
  [[ -n "$mods" ]] || die "no staging replaces found in $gomod"
  local golines godebug
  golines="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod" | head -1)"
  godebug="$(grep -E '^godebug ' "$gomod" | head -1 || true)"
  {
    echo "module local.invalid/kube-build"
    echo
    echo "go ${golines:-1.24.0}"
    [[ -n "$godebug" ]] && { echo; echo "$godebug"; }
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    echo "replace ("
    for m in $mods; do echo "	$m => $m $staging"; done
    echo ")"
  } > go.mod.tmp
  mv go.mod.tmp go.mod
}

kube_ldflags() {
  local minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
  local f="-s -w" V
  for V in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    f="$f -X $V.gitVersion=$KUBE_VERSION -X $V.gitMajor=1 -X $V.gitMinor=$minor -X $V.gitTreeState=clean"
  done
  echo "$f"
}
