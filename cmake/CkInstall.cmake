# The installed library: every room's objects in one libck.so (with a
# SONAME) and one libck.a, the public headers with the umbrella <ck/ck.h>,
# and ck.pc. Inside the tree the tools and tests keep linking the per-room
# static libraries, so that a tool pulls only the rooms it uses.
if(NOT CK_WITH_IO)
  return()
endif()
set(CK_ROOMS ck_core ck_nn ck_io ck_weights ck_augment ck_submit ck_checkpoint ck_data ck_train ck_predict)
if(TARGET ck_cuda)
  list(APPEND CK_ROOMS ck_cuda)
endif()
set(CK_OBJECTS "")
foreach(room IN LISTS CK_ROOMS)
  get_target_property(type ${room} TYPE)
  if(NOT type STREQUAL "INTERFACE_LIBRARY")
    list(APPEND CK_OBJECTS $<TARGET_OBJECTS:${room}>)
  endif()
endforeach()
# The rooms' outside dependencies (the same as their PRIVATE/PUBLIC links).
set(CK_DEP_LIBS PkgConfig::OPENBLAS OpenMP::OpenMP_C PkgConfig::VIPS PkgConfig::PNG ck_libcsv ck_hdf5
  PkgConfig::LIBCRYPTO Threads::Threads m)
if(TARGET ck_cuda)
  get_target_property(cuda_deps ck_cuda INTERFACE_LINK_LIBRARIES)
  list(REMOVE_ITEM cuda_deps ck_core)
  list(APPEND CK_DEP_LIBS ${cuda_deps})
endif()

add_library(ck SHARED ${CK_OBJECTS})
target_link_libraries(ck PRIVATE ${CK_DEP_LIBS})
set_target_properties(ck PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})
if(NOT CK_SANITIZE)
  # Every symbol the library uses must come from a listed dependency.
  target_link_options(ck PRIVATE -Wl,--no-undefined)
endif()
add_library(ck_static STATIC ${CK_OBJECTS})
set_target_properties(ck_static PROPERTIES OUTPUT_NAME ck)
install(TARGETS ck ck_static
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/lib/include/ck DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")

# ck.pc finds the prefix from its own place (${pcfiledir}: up from
# LIBDIR/pkgconfig), so the tree can be installed anywhere
# (cmake --install --prefix DIR).
set(CK_PC_UP "../..")
string(REGEX MATCHALL "/" slashes "${CMAKE_INSTALL_LIBDIR}")
foreach(s IN LISTS slashes)
  string(APPEND CK_PC_UP "/..")
endforeach()
set(CK_PC_REQUIRES "vips libpng libcrypto")
set(CK_PC_LIBS "-lcsv")
if(OPENBLAS_FOUND)
  string(APPEND CK_PC_REQUIRES " openblas")
else()
  string(APPEND CK_PC_LIBS " ${OPENBLAS_LIB}")
endif()
pkg_check_modules(CK_PC_HDF5 QUIET hdf5)
if(CK_PC_HDF5_FOUND)
  string(APPEND CK_PC_REQUIRES " hdf5")
else()
  foreach(lib IN LISTS HDF5_C_LIBRARIES)
    string(APPEND CK_PC_LIBS " ${lib}")
  endforeach()
endif()
string(APPEND CK_PC_LIBS " ${OpenMP_C_FLAGS} -lpthread -lm")
if(TARGET ck_cuda)
  string(APPEND CK_PC_LIBS " -L${CUDAToolkit_LIBRARY_DIR} -lcudart -lcublas ${CUDNN_LIB} -lstdc++")
  if(NCCL_LIB)
    string(APPEND CK_PC_LIBS " ${NCCL_LIB}")
  endif()
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/ck.pc.in ${PROJECT_BINARY_DIR}/ck.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/ck.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
