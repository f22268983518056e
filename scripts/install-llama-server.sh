#!/usr/bin/env bash
# Build llama.cpp's own llama-server (MIT) from the llama-cpp-python sdist on PyPI, which
# vendors the whole llama.cpp tree, into a per-machine cache. Only the server and
# llama-quantize (which makes the f32 copy the embedded model is served as) are built
# (no Python bindings, no tests, no examples). Skipped when the cached binary
# exists and answers --version. The ping-inspect llamacpp/ provider finds it there
# (or at $PING_INSPECT_LLAMA_SERVER). llama.cpp's convert_hf_to_gguf.py is copied beside
# it (convert/), for fine-tuned checkpoints served by llamacpp/.
#
#   bash scripts/install-llama-server.sh      # called by scripts/install.sh
set -euo pipefail

version="0.3.36"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/ping-inspect"
dest="$cache/llama-server/llama-cpp-python-$version"
binary="$dest/llama-server"
quantize="$dest/llama-quantize"
converter="$dest/convert/convert_hf_to_gguf.py"

work="$cache/build"
src="$work/llama_cpp_python-$version/vendor/llama.cpp"
fetch_source() {
    mkdir -p "$work" "$dest"
    if [ ! -d "$src" ]; then
        python3 -m pip download -q --no-deps --no-binary :all: "llama-cpp-python==$version" -d "$work"
        tar -xzf "$work/llama_cpp_python-$version.tar.gz" -C "$work"
    fi
}

# llama.cpp's own converter (transformers folder -> GGUF), with the gguf-py and conversion
# packages of the same tree, so that fine-tuned checkpoints are served by llamacpp/.
if [ ! -f "$converter" ]; then
    fetch_source
    rm -rf "$dest/convert.tmp" && mkdir -p "$dest/convert.tmp"
    cp -r "$src/convert_hf_to_gguf.py" "$src/conversion" "$src/gguf-py" "$dest/convert.tmp/"
    rm -rf "$dest/convert" && mv "$dest/convert.tmp" "$dest/convert"
    echo "llama.cpp's converter installed: $converter"
fi

if [ -x "$binary" ] && [ -x "$quantize" ] && "$binary" --version >/dev/null 2>&1; then
    echo "llama-server already built: $binary"
    exit 0
fi

start=$(date +%s)
fetch_source
# Static, so the binary stands alone in $dest. AMX is left out of the native build:
# -march=native enables it where the CPU has it, and virtual machines whose kernel does
# not grant AMX state then die with "Illegal instruction" on the first matrix product.
cmake -S "$src" -B "$src/build-server" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_UI=OFF \
    -DCMAKE_C_FLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" \
    -DCMAKE_CXX_FLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" >/dev/null
cmake --build "$src/build-server" -j"$(nproc)" --target llama-server llama-quantize >/dev/null
cp "$src/build-server/bin/llama-quantize" "$quantize.tmp"
mv "$quantize.tmp" "$quantize"
cp "$src/build-server/bin/llama-server" "$binary.tmp"
mv "$binary.tmp" "$binary"
"$binary" --version >/dev/null 2>&1
echo "llama-server built in $(( $(date +%s) - start )) s: $binary"
