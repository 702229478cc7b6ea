# The PCA fit (data/pca.hpp) against scikit-learn's exact PCA through Debian's /usr/bin/python3:
# pca_tool fits a sparse h5ad written by anndata over 1 and 2 real ranks and prints the fit.
cellot_add_script_test(NAME pca_crosscheck SCRIPT ${CMAKE_CURRENT_LIST_DIR}/pca_crosscheck.sh
                       LABELS crosscheck TIMEOUT 120)
cellot_crosscheck_tool(NAME pca_tool SOURCE ${CMAKE_CURRENT_LIST_DIR}/pca_tool.cpp ENV CELLOT_PCA_TOOL
                       TESTS pca_crosscheck)
