# Packed training (issue 16 item 1): K CellOT tasks trained together equal each trained alone.
cellot_add_test(NAME test_cellot_pack SOURCES ${CMAKE_CURRENT_LIST_DIR}/cellot_pack_test.cpp RANKS 1 2 LABELS unit)
