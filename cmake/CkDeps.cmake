# Dependencies. The numeric core (ck_core, ck_nn) needs only OpenBLAS and
# pthreads so that it can be built on a machine without Debian's packages
# (e.g. a bare GPU box); libvips, libcsv and libhdf5 are for the I/O parts.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
# The CPU backend parallelises its own loops with OpenMP (GCC's libgomp).
find_package(OpenMP REQUIRED COMPONENTS C)

# OpenBLAS: Debian ships openblas.pc (pthread flavour) via libopenblas-dev.
pkg_check_modules(OPENBLAS IMPORTED_TARGET openblas)
if(NOT OPENBLAS_FOUND)
  find_library(OPENBLAS_LIB NAMES openblas REQUIRED)
  find_path(OPENBLAS_INC cblas.h PATH_SUFFIXES openblas openblas-pthread REQUIRED)
  add_library(PkgConfig::OPENBLAS INTERFACE IMPORTED)
  set_target_properties(PkgConfig::OPENBLAS PROPERTIES
    INTERFACE_LINK_LIBRARIES "${OPENBLAS_LIB}"
    INTERFACE_INCLUDE_DIRECTORIES "${OPENBLAS_INC}")
endif()

option(CK_WITH_IO "Build the image/table/weights libraries (needs libvips, libcsv, libhdf5)" ON)
if(CK_WITH_IO)
  pkg_check_modules(VIPS REQUIRED IMPORTED_TARGET vips)
  # PNG goes through libpng directly (lib/io/image_png.c): libvips' fixed
  # per-image cost is ~10x the codec work on 32x32 images. libpng-dev comes
  # with libvips-dev, so this adds nothing to install.
  pkg_check_modules(PNG REQUIRED IMPORTED_TARGET libpng)
  find_library(CSV_LIB NAMES csv REQUIRED)
  find_path(CSV_INC csv.h REQUIRED)
  add_library(ck_libcsv INTERFACE IMPORTED)
  set_target_properties(ck_libcsv PROPERTIES
    INTERFACE_LINK_LIBRARIES "${CSV_LIB}" INTERFACE_INCLUDE_DIRECTORIES "${CSV_INC}")
  # SHA-256 of weight files: libcrypto uses the CPU's SHA instructions
  # (docs/performance.md); it is already there wherever OpenSSL is.
  pkg_check_modules(LIBCRYPTO REQUIRED IMPORTED_TARGET libcrypto)
  find_package(HDF5 REQUIRED COMPONENTS C)
  add_library(ck_hdf5 INTERFACE IMPORTED)
  set_target_properties(ck_hdf5 PROPERTIES
    INTERFACE_LINK_LIBRARIES "${HDF5_C_LIBRARIES}"
    INTERFACE_INCLUDE_DIRECTORIES "${HDF5_C_INCLUDE_DIRS}"
    INTERFACE_COMPILE_DEFINITIONS "${HDF5_C_DEFINITIONS}")
endif()

# CUDA backend: AUTO builds it when nvcc, cuBLAS and cuDNN are found.
set(CK_HAVE_CUDA OFF)
if(NOT CK_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    find_package(CUDAToolkit QUIET)
    find_library(CUDNN_LIB NAMES cudnn HINTS ${CUDAToolkit_LIBRARY_DIR} /usr/local/cuda/lib64)
    find_path(CUDNN_INC cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS} /usr/local/cuda/include)
    if(CUDAToolkit_FOUND AND CUDNN_LIB AND CUDNN_INC)
      set(CK_HAVE_CUDA ON)
    endif()
  endif()
  if(CK_CUDA STREQUAL "ON" AND NOT CK_HAVE_CUDA)
    message(FATAL_ERROR "CK_CUDA=ON but nvcc/cuBLAS/cuDNN were not found")
  endif()
endif()
if(CK_HAVE_CUDA)
  # Ampere (A100) and Hopper (H100/H200) SASS; override with
  # -DCMAKE_CUDA_ARCHITECTURES=... for other GPUs. Set before
  # enable_language so every target gets a value (CMP0104).
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES "80;90")
  endif()
  # One CUDA runtime in the process: ck_cuda links libcudart.so, so the
  # executables (linked by the CUDA host linker) must not add the static one.
  set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)
  enable_language(CUDA)
endif()
message(STATUS "ck: CUDA backend ${CK_HAVE_CUDA}")
