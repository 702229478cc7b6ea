# Stores written before XXH3 still open, verify and resume (engineer of issue 11, item 4).
cellot_add_script_test(NAME screen_legacy_hash_e2e SCRIPT ${CMAKE_CURRENT_LIST_DIR}/screen_legacy_hash.sh
                       LABELS e2e TIMEOUT 600)
