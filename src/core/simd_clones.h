/*
 * Element-wise passes are memory- and vector-bound: a function marked
 * IS_SIMD_CLONES is compiled for AVX-512, AVX2 and the baseline, and the
 * loader picks one for the CPU, so the build itself stays portable (no
 * -march=native).  GCC only: clang's target_clones differs (it needs an
 * ifunc resolver of its own and handles "arch=" otherwise).
 */
#ifndef INSTSIM_SIMD_CLONES_H
#define INSTSIM_SIMD_CLONES_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define IS_SIMD_CLONES __attribute__((target_clones("avx512f", "arch=x86-64-v3", "default")))
#else
#define IS_SIMD_CLONES
#endif

#endif							/* INSTSIM_SIMD_CLONES_H */
