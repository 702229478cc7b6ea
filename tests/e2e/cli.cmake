# CLI-level behaviour (engineer H): remaking a screen task's prediction from the store, and the
# option / config-file rules of every subcommand.
cellot_add_script_test(NAME predict_store_e2e SCRIPT ${CMAKE_CURRENT_LIST_DIR}/predict_store.sh LABELS e2e mpi TIMEOUT 300)
set_tests_properties(predict_store_e2e PROPERTIES PROCESSORS 2)
cellot_add_script_test(NAME cli_config_e2e SCRIPT ${CMAKE_CURRENT_LIST_DIR}/cli_config.sh LABELS e2e)
cellot_add_script_test(NAME predict_new_file_e2e SCRIPT ${CMAKE_CURRENT_LIST_DIR}/predict_new_file.sh LABELS e2e)
# Embeddings and standardisation (issue 14): a PCA screen on a sparse 2,000-gene file.
cellot_add_script_test(NAME embedding_pca_e2e SCRIPT ${CMAKE_CURRENT_LIST_DIR}/embedding_pca.sh LABELS e2e mpi TIMEOUT 600)
set_tests_properties(embedding_pca_e2e PROPERTIES PROCESSORS 2)
# The autoencoder embedding (ae:K) on a small synthetic scRNA-seq file: 2 ranks vs 1, remade
# predictions, bad settings.
cellot_add_script_test(NAME embedding_ae_e2e SCRIPT ${CMAKE_CURRENT_LIST_DIR}/embedding_ae.sh LABELS e2e mpi TIMEOUT 300)
set_tests_properties(embedding_ae_e2e PROPERTIES PROCESSORS 2)
