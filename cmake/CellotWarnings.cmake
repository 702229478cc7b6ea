# Warnings as an INTERFACE target so they apply to our code only, never to dependencies.
add_library(cellot_warnings INTERFACE)
add_library(cellot::warnings ALIAS cellot_warnings)
target_compile_options(cellot_warnings INTERFACE -Wall -Wextra)
