# Writes a C file holding a text file's bytes, NUL-terminated, as
#   const unsigned char <SYMBOL> [];  const size_t <SYMBOL>_size;
# so the binary carries it (the built-in breached-password list). Run at
# build time:
#   cmake -DIN=list.txt -DSYMBOL=name -DOUT=x.c -P embed_text.cmake
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR byte_len "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
get_filename_component(name ${IN} NAME)
file(WRITE ${OUT}.tmp "/* Generated from ${name}; do not edit. */\n#include <stddef.h>\n\n"
     "const unsigned char ${SYMBOL} [] = { ${bytes} 0x00 };\n"
     "const size_t ${SYMBOL}_size = ${byte_len};\n")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
