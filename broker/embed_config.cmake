# cmake -DINPUT=deploy/relais.conf -DOUTPUT=.../config_default.c -P embed_config.cmake
#
# Writes a C source defining config_default_text (config.h) as the exact
# bytes of INPUT, so the built-in default and the shipped file are one text.
# Every byte is written as a \xNN escape: no quoting rule of C or CMake can
# bend the text (quotes, backslashes, semicolons, UTF-8 all pass through), and
# one C line per line of INPUT keeps the output diffable.
file(READ "${INPUT}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" escaped "${hex}")
# Every byte starts with \x, so "\x0a" can only match a whole newline byte.
string(REPLACE "\\x0a" "\\x0a\"\n    \"" escaped "${escaped}")
file(WRITE "${OUTPUT}"
  "/* Generated from deploy/relais.conf by broker/embed_config.cmake: do not edit. */\n"
  "#include \"config.h\"\n\n"
  "const char config_default_text[] =\n    \"${escaped}\";\n")
