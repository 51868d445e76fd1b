# cmake -DINPUT=deploy/linkage-model.json -DOUTPUT=.../linkage_model_text.c -P embed_model.cmake
#
# Writes a C source defining linkage_model_default_text (linkage.h) as the
# exact bytes of INPUT, the same way embed_config.cmake embeds relais.conf:
# every byte a \xNN escape, one C line per line of INPUT.
file(READ "${INPUT}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" escaped "${hex}")
string(REPLACE "\\x0a" "\\x0a\"\n    \"" escaped "${escaped}")
file(WRITE "${OUTPUT}"
  "/* Generated from deploy/linkage-model.json by broker/embed_model.cmake: do not edit. */\n"
  "#include \"linkage.h\"\n\n"
  "const char linkage_model_default_text[] =\n    \"${escaped}\";\n")
