# Install rules and the Debian package: `cpack -G DEB` in the build folder writes
# packages/mlcron_<version>_amd64.deb. scripts/package is the one command that builds, packs
# and runs lintian; docs/packaging.md explains the layout and the maintainer scripts.
include(GNUInstallDirs)

# `cpack` must not build `all` (tests, benchmarks): scripts/package builds the binaries and
# mlcron_package_files itself.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(MLCRON_PACKAGE_MAINTAINER "mlcron developers <mlcron@example.org>" CACHE STRING
    "Maintainer field and changelog trailer of the Debian package")
set(MLCRON_PKG ${CMAKE_SOURCE_DIR}/packaging)
set(MLCRON_PKG_OUT ${CMAKE_BINARY_DIR}/packaging)

# --- Generated files: man pages (pandoc) and the changelog, gzip -9n as policy asks. ---
# Only mlcron_package_files needs pandoc (scripts/bootstrap installs it); without it that
# target fails with "pandoc: not found".
find_program(MLCRON_PANDOC pandoc)
if(NOT MLCRON_PANDOC)
  set(MLCRON_PANDOC pandoc)
endif()
find_program(MLCRON_GZIP gzip REQUIRED)
set(MLCRON_MAN_PAGES mlcron.1 mlcrond.8 mlcron.yaml.5)
set(MLCRON_GENERATED)
foreach(page IN LISTS MLCRON_MAN_PAGES)
  set(source ${CMAKE_SOURCE_DIR}/docs/man/${page}.md)
  set(out ${MLCRON_PKG_OUT}/man/${page})
  set(render ${MLCRON_PANDOC} --standalone --from markdown --to man
      "--metadata=footer:mlcron ${MLCRON_VERSION}" --output ${out} ${source})
  add_custom_command(OUTPUT ${out}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${MLCRON_PKG_OUT}/man
    COMMAND ${render}
    COMMAND ${MLCRON_GZIP} -9nf ${out}
    DEPENDS ${source}
    COMMENT "man page ${page}"
    VERBATIM)
  list(APPEND MLCRON_GENERATED ${out}.gz)
  string(REGEX MATCH "[0-9]$" section ${page})
  install(FILES ${out}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()

# A build of another version (MLCRON_VERSION_OVERRIDE, e.g. the upgrade test's) gets its own
# top entry, so that the changelog always names the version it ships with.
add_custom_command(OUTPUT ${MLCRON_PKG_OUT}/changelog.gz
  COMMAND ${CMAKE_COMMAND} -DVERSION=${MLCRON_VERSION} "-DMAINTAINER=${MLCRON_PACKAGE_MAINTAINER}"
          -DIN=${MLCRON_PKG}/changelog -DOUT=${MLCRON_PKG_OUT}/changelog
          -P ${MLCRON_PKG}/changelog.cmake
  COMMAND ${MLCRON_GZIP} -9nf ${MLCRON_PKG_OUT}/changelog
  DEPENDS ${MLCRON_PKG}/changelog ${MLCRON_PKG}/changelog.cmake
  COMMENT "changelog for ${MLCRON_VERSION}"
  VERBATIM)
list(APPEND MLCRON_GENERATED ${MLCRON_PKG_OUT}/changelog.gz)
add_custom_target(mlcron_package_files DEPENDS ${MLCRON_GENERATED})

# --- What goes where (the tree of docs/packaging.md). ---
install(TARGETS mlcrond mlcron RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# As dh_strip does: the compiler's .comment and .note sections serve nobody at run time
# (CPACK_STRIP_FILES strips the symbols afterwards).
install(CODE "
  foreach(exe mlcrond mlcron)
    execute_process(COMMAND \"${CMAKE_OBJCOPY}\" --remove-section=.comment --remove-section=.note
      \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/\${exe}\"
      COMMAND_ERROR_IS_FATAL ANY)
  endforeach()")
install(FILES ${CMAKE_SOURCE_DIR}/systemd/mlcrond.service DESTINATION lib/systemd/system)
install(FILES ${CMAKE_SOURCE_DIR}/systemd/mlcron.sysusers.conf DESTINATION lib/sysusers.d
        RENAME mlcron.conf)
install(FILES ${CMAKE_SOURCE_DIR}/systemd/mlcron.tmpfiles.conf DESTINATION lib/tmpfiles.d
        RENAME mlcron.conf)
# The conffile (listed in packaging/conffiles). Absolute: /etc is not under the /usr prefix.
# cpack always installs into a staging DESTDIR; a plain `cmake --install` as root must not
# overwrite the operator's config, so it installs the example only where there is none.
install(CODE "
  if(\"\$ENV{DESTDIR}\" STREQUAL \"\" AND EXISTS /etc/mlcron/mlcron.yaml)
    message(STATUS \"Keeping the existing /etc/mlcron/mlcron.yaml\")
  else()
    file(INSTALL DESTINATION /etc/mlcron TYPE FILE FILES \"${MLCRON_PKG}/mlcron.yaml\")
  endif()")
# Modes are set here, not copied from the checkout, so that a clone made under another umask
# packs the same tree. The examples' scripts are executable; the state a local run left is
# not shipped.
set(CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(MLCRON_EXECUTABLE OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
    WORLD_READ WORLD_EXECUTE)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/config/examples/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/mlcron/examples
        FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
        DIRECTORY_PERMISSIONS ${MLCRON_EXECUTABLE}
        PATTERN state EXCLUDE
        REGEX "/bin/[^/]+$" PERMISSIONS ${MLCRON_EXECUTABLE}
        PATTERN regenerate-data PERMISSIONS ${MLCRON_EXECUTABLE})
set(MLCRON_DOC_DIR ${CMAKE_INSTALL_DATADIR}/doc/mlcron)
# Every page of docs/ ships (they link to each other); a new page needs no edit here.
file(GLOB MLCRON_DOCS ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${MLCRON_DOCS} DESTINATION ${MLCRON_DOC_DIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/images DESTINATION ${MLCRON_DOC_DIR})
install(FILES ${MLCRON_PKG}/copyright ${MLCRON_PKG_OUT}/changelog.gz
        DESTINATION ${MLCRON_DOC_DIR})

# --- The DEB generator. ---
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME mlcron)
set(CPACK_PACKAGE_VERSION ${MLCRON_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_OUTPUT_FILE_PREFIX ${CMAKE_BINARY_DIR}/packages)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_CONTACT ${MLCRON_PACKAGE_MAINTAINER})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Beyond the libraries shlibdeps finds: the time zone database (date-tz reads it at run
# time), /bin/kill for the unit's ExecReload= (procps is not in a minimal system), and
# systemd-sysusers/systemd-tmpfiles, which postinst runs.
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "tzdata, procps, systemd | systemd-standalone-sysusers, systemd | systemd-standalone-tmpfiles")
# CPack indents each line by one space and turns the empty line into " ."; lines given with
# a leading space would become verbatim lines.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "scheduler daemon for daily machine-learning pipelines
mlcrond runs a tiered dependency graph of jobs from one YAML file under
systemd: features, retraining and signals at fixed times, each job its own
process, every run recorded in SQLite. Built-in job kinds import CSV files,
compute features in SQL, retrain XGBoost models behind a holdout gate with a
model registry, and score new rows. mlcron is the command line around it:
validate, preview, run, pause, inspect history and logs, manage models.

The package ships the hardened mlcrond.service (not enabled on install),
the mlcron system user, /var/lib/mlcron and /var/log/mlcron, an example
/etc/mlcron/mlcron.yaml, and example pipelines in /usr/share/mlcron/examples.")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${MLCRON_PKG}/conffiles ${MLCRON_PKG}/postinst ${MLCRON_PKG}/prerm ${MLCRON_PKG}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
