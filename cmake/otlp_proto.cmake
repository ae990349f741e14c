# Copies OTLP .proto files into the build tree for protoc-c 1.4.1, which refuses proto3 `optional`.
# Each `optional <type> <name> = <n>;` becomes `oneof _<name> { <type> <name> = <n>; }`: that is how
# proto3 itself defines `optional` (a synthetic one-field oneof), so the wire format is the same and
# presence is kept (the generated struct gets a `_<name>_case`). The sources stay unmodified.
# Usage: cmake -DSRC=<proto root> -DDST=<output root> -DFILES=a.proto:b.proto -P otlp_proto.cmake
string(REPLACE ":" ";" files "${FILES}")
foreach(f ${files})
  file(READ ${SRC}/${f} text)
  string(REGEX REPLACE
    "\n([ \t]*)optional[ \t]+([A-Za-z0-9_.]+)[ \t]+([A-Za-z0-9_]+)[ \t]*=[ \t]*([0-9]+)[ \t]*;"
    "\n\\1oneof _\\3 { \\2 \\3 = \\4; }" text "${text}")
  if(text MATCHES "\n[ \t]*optional[ \t]")
    message(FATAL_ERROR "${f}: an `optional` field this script cannot rewrite")
  endif()
  set(out ${DST}/${f})
  # Rewrite only when changed, so protoc-c and the C compiler do not rerun needlessly.
  set(old "")
  if(EXISTS ${out})
    file(READ ${out} old)
  endif()
  if(NOT old STREQUAL text)
    file(WRITE ${out} "${text}")
  endif()
endforeach()
