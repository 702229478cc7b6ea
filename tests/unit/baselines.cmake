# Baselines: scGen, cAE, identity, observed, mean_shift (models/{autoencoder,scgen,cae,...}).
cellot_add_test(NAME baselines_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/baselines_test.cpp LABELS unit)
