# Shared by scripts/start and scripts/test: installs the Debian packages a command needs
# when they are missing. Sourced, not run.

# ensure_packages PKG...: installs the packages that are not installed yet.
ensure_packages() {
    local missing=()
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$pkg")
        fi
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    echo "==> installing Debian packages: ${missing[*]}"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo"
    fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Runtime: the Japanese font embedded in posters.
RUNTIME_PACKAGES=(fonts-ipaexfont-gothic)
# Tests: a real browser and its driver, PDF rasteriser, C compiler for bundled SQLite,
# dpkg-shlibdeps for the kiosk's Debian package, libclang for the camera backend's bindgen (nokhwa).
TEST_PACKAGES=(fonts-ipaexfont-gothic chromium chromium-driver poppler-utils gcc libc6-dev dpkg-dev libclang-dev)
