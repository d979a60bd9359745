# Used as CMAKE_TOOLCHAIN_FILE for every CMake build cargo runs (see .cargo/config.toml).
# v8x builds the WAMR interpreter, whose CMake wants to git-clone simde from GitHub; these
# machines cannot reach GitHub, so point FetchContent at Debian's libsimde-dev headers instead.
if(EXISTS "/usr/include/simde/simde-common.h")
  set(FETCHCONTENT_SOURCE_DIR_SIMDE "/usr/include" CACHE PATH "" FORCE)
endif()
