# anndata cross-check of the h5ad reader/writer (both directions) and of the synth presets.
cellot_add_script_test(NAME h5ad_crosscheck SCRIPT ${CMAKE_CURRENT_LIST_DIR}/h5ad_roundtrip.sh LABELS crosscheck)
cellot_add_script_test(NAME h5ad_layouts SCRIPT ${CMAKE_CURRENT_LIST_DIR}/h5ad_layouts.sh LABELS crosscheck)
cellot_crosscheck_tool(NAME h5ad_tool SOURCE ${CMAKE_CURRENT_LIST_DIR}/h5ad_tool.cpp ENV CELLOT_H5AD_TOOL
                       TESTS h5ad_crosscheck h5ad_layouts)
