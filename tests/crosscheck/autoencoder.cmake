# scGen and cAE against an independent PyTorch implementation (ae_reference.py) through Debian's
# /usr/bin/python3: ae_tool trains ours on a small synthetic file and writes the fit's trace.
cellot_add_script_test(NAME autoencoder_crosscheck SCRIPT ${CMAKE_CURRENT_LIST_DIR}/ae_crosscheck.sh
                       LABELS crosscheck TIMEOUT 120)
cellot_crosscheck_tool(NAME ae_tool SOURCE ${CMAKE_CURRENT_LIST_DIR}/ae_tool.cpp ENV CELLOT_AE_TOOL
                       TESTS autoencoder_crosscheck)
