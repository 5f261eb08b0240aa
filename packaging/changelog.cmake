# Writes the package's changelog: packaging/changelog with MAINTAINER filled in, plus a top
# entry for VERSION when the file's newest entry is another version (a build with
# MLCRON_VERSION_OVERRIDE). Run as cmake -DVERSION= -DMAINTAINER= -DIN= -DOUT= -P this.
file(READ ${IN} text)
string(REPLACE "MAINTAINER" "${MAINTAINER}" text "${text}")
string(REGEX MATCH "^mlcron \\(([^)]+)\\)" top "${text}")
set(newest "${CMAKE_MATCH_1}")
if(NOT newest STREQUAL VERSION)
  # The date of the newest entry keeps the output reproducible (no build timestamp).
  string(REGEX MATCH "\n -- [^\n]*>  ([^\n]+)" trailer "${text}")
  set(text "mlcron (${VERSION}) unstable; urgency=medium

  * Local build of ${VERSION} from the ${newest} sources
    (MLCRON_VERSION_OVERRIDE).

 -- ${MAINTAINER}  ${CMAKE_MATCH_1}

${text}")
endif()
file(WRITE ${OUT} "${text}")
