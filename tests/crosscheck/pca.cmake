# The PCA fit (data/pca.hpp) against scikit-learn's exact PCA through Debian's /usr/bin/python3:
# pca_tool fits a sparse h5ad written by anndata over 1 and 2 real ranks and prints the fit.
add_executable(pca_tool ${CMAKE_CURRENT_LIST_DIR}/pca_tool.cpp)
target_link_libraries(pca_tool PRIVATE cellot::all cellot::warnings)
set_target_properties(pca_tool PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
cellot_add_script_test(NAME pca_crosscheck SCRIPT ${CMAKE_CURRENT_LIST_DIR}/pca_crosscheck.sh
                       LABELS crosscheck TIMEOUT 120)
set_property(TEST pca_crosscheck APPEND PROPERTY ENVIRONMENT "CELLOT_PCA_TOOL=$<TARGET_FILE:pca_tool>")
