/*
 * jamey_bench_mix, in assembly so that every image that links it (the Swift driver through SwiftPM,
 * the C sink through `cc`) runs byte-identical machine code, whatever each compiler's frame-pointer
 * policy: the service-call benchmark compares a direct call of one copy with a call of the other
 * through a service table, and only the call may differ.
 *     uint64_t jamey_bench_mix(void *context, uint64_t x) { return x * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019; }
 * Other architectures use the C definition in bench_work.c.
 */
#if defined(__x86_64__)
    .text
    .globl jamey_bench_mix
    .hidden jamey_bench_mix
    .type jamey_bench_mix, @function
    .p2align 4
jamey_bench_mix:
    movabsq $0x9E3779B97F4A7C15, %rax
    imulq %rsi, %rax
    movabsq $0x632BE59BD9B4E019, %rcx
    addq %rcx, %rax
    ret
    .size jamey_bench_mix, .-jamey_bench_mix
    .section .note.GNU-stack,"",@progbits
#elif defined(__aarch64__)
    .text
    .globl jamey_bench_mix
    .hidden jamey_bench_mix
    .type jamey_bench_mix, %function
    .p2align 4
jamey_bench_mix:
    movz x9, #0x7C15
    movk x9, #0x7F4A, lsl #16
    movk x9, #0x79B9, lsl #32
    movk x9, #0x9E37, lsl #48
    movz x10, #0xE019
    movk x10, #0xD9B4, lsl #16
    movk x10, #0xE59B, lsl #32
    movk x10, #0x632B, lsl #48
    madd x0, x1, x9, x10
    ret
    .size jamey_bench_mix, .-jamey_bench_mix
    .section .note.GNU-stack,"",%progbits
#endif
