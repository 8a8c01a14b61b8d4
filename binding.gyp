# node-gyp entry point (install-time fallback of node-gyp-build, and
# prebuildify). It does not list sources: CMakeLists.txt is the one
# description of the native build; scripts/build-addon.mjs runs it and puts
# the addon at build/Release/ocre_node.node, where node-gyp-build looks.
{
  "targets": [
    {
      "target_name": "ocre_node",
      "type": "none",
      "actions": [
        {
          "action_name": "cmake_build",
          "inputs": [],
          "outputs": ["<(module_root_dir)/build/Release/ocre_node.node"],
          "action": ["node", "<(module_root_dir)/scripts/build-addon.mjs"]
        }
      ]
    }
  ]
}
