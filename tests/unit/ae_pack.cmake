# Packed autoencoder training (issue 16 item 1): K scGen / cAE tasks trained together equal each trained alone.
cellot_add_test(NAME test_ae_pack SOURCES ${CMAKE_CURRENT_LIST_DIR}/ae_pack_test.cpp RANKS 1 2 LABELS unit)
