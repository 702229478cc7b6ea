# The ae:K embedding: torch-free codec vs the torch forward pass, serialisation, determinism.
cellot_add_test(NAME embedding_ae_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/embedding_ae_test.cpp LABELS unit)
