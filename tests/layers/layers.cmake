# Layering (cmake/layers.txt): the include graph is clean, and a forbidden include fails to
# build. Each probe is compiled as part of its layer would be (the layer's include view and
# libraries), outside the default build; the test builds them and expects the violations to fail
# with "No such file or directory" for the forbidden header and the control to build.
cellot_add_script_test(NAME check_layers SCRIPT ${CMAKE_CURRENT_LIST_DIR}/check_layers.sh LABELS unit TIMEOUT 60)

set(_probes "")
foreach(_probe metrics:metrics_uses_models io:io_uses_screen report:report_uses_nn screen:screen_uses_models
               metrics:metrics_allowed)
  string(REPLACE ":" ";" _p ${_probe})
  list(GET _p 0 _layer)
  list(GET _p 1 _name)
  add_library(layer_probe_${_name} OBJECT EXCLUDE_FROM_ALL ${CMAKE_CURRENT_LIST_DIR}/probe_${_name}.cpp)
  get_target_property(_view cellot_${_layer} CELLOT_VIEW)  # screen: its torch-free part's view
  target_include_directories(layer_probe_${_name} PRIVATE ${_view})
  target_link_libraries(layer_probe_${_name} PRIVATE cellot_${_layer})
  list(APPEND _probes layer_probe_${_name})
endforeach()
cellot_add_script_test(NAME layer_violation SCRIPT ${CMAKE_CURRENT_LIST_DIR}/layer_violation.sh LABELS unit TIMEOUT 600)
set_property(TEST layer_violation APPEND PROPERTY ENVIRONMENT "CELLOT_CMAKE=${CMAKE_COMMAND}")
