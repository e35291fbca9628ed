# The raw AF_PACKET socket addon of the speaker's Layer 2 responder. Build: speaker/native/build.sh
# (node-gyp against the local Node headers; nothing is downloaded).
{
  "targets": [
    {
      "target_name": "metallb_rawsock",
      "sources": ["src/rawsock.cc"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"],
      "conditions": [
        ["OS!='linux'", { "type": "none", "sources!": ["src/rawsock.cc"] }]
      ]
    }
  ]
}
