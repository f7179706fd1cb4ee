package dev.virtiofsd.linux.sandbox;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A classic BPF program as seccomp runs it, built with symbolic jump targets: the few instructions
 * a syscall filter needs (load a 32-bit word of {@code struct seccomp_data}, compare, return).
 * Conditional jumps are forward only and at most 255 instructions far, as in the kernel.
 */
final class BpfProgram {
    static final int LD_W_ABS = 0x20;
    static final int JMP_JA = 0x05;
    static final int JMP_JEQ_K = 0x15;
    static final int JMP_JGE_K = 0x35;
    static final int JMP_JSET_K = 0x45;
    static final int RET_K = 0x06;

    /** Offsets in {@code struct seccomp_data}. */
    static final int NR = 0;

    static final int ARCH = 4;

    /** Low 32 bits of argument {@code i} (little-endian). */
    static int argLow(int i) {
        return 16 + 8 * i;
    }

    /** High 32 bits of argument {@code i}. */
    static int argHigh(int i) {
        return 20 + 8 * i;
    }

    private static final class Insn {
        final int code;
        final int k;
        final String jt;
        final String jf;

        Insn(int code, int k, String jt, String jf) {
            this.code = code;
            this.k = k;
            this.jt = jt;
            this.jf = jf;
        }
    }

    private final List<Insn> insns = new ArrayList<>();
    private final Map<String, Integer> labels = new HashMap<>();

    /** Places {@code name} at the next instruction. */
    BpfProgram label(String name) {
        if (labels.put(name, insns.size()) != null) {
            throw new IllegalStateException("label " + name + " placed twice");
        }
        return this;
    }

    /** A = the 32-bit word at {@code offset} of seccomp_data. */
    BpfProgram load(int offset) {
        insns.add(new Insn(LD_W_ABS, offset, null, null));
        return this;
    }

    /** if (A == k) goto yes else goto no; a null label is the next instruction. */
    BpfProgram jumpIfEqual(int k, String yes, String no) {
        insns.add(new Insn(JMP_JEQ_K, k, yes, no));
        return this;
    }

    /** if (A >= k, unsigned) goto yes else goto no. */
    BpfProgram jumpIfAtLeast(int k, String yes, String no) {
        insns.add(new Insn(JMP_JGE_K, k, yes, no));
        return this;
    }

    /** if ((A & mask) != 0) goto yes else goto no. */
    BpfProgram jumpIfAnySet(int mask, String yes, String no) {
        insns.add(new Insn(JMP_JSET_K, mask, yes, no));
        return this;
    }

    /** goto target (unconditional, 32-bit offset). */
    BpfProgram jump(String target) {
        insns.add(new Insn(JMP_JA, 0, target, null));
        return this;
    }

    BpfProgram ret(int action) {
        insns.add(new Insn(RET_K, action, null, null));
        return this;
    }

    int size() {
        return insns.size();
    }

    /** The program as {@code struct sock_filter[]}: u16 code, u8 jt, u8 jf, u32 k, little-endian. */
    byte[] assemble() {
        if (insns.size() > 4096) {
            throw new IllegalStateException("BPF program of " + insns.size() + " instructions (limit 4096)");
        }
        byte[] out = new byte[insns.size() * 8];
        for (int i = 0; i < insns.size(); i++) {
            Insn in = insns.get(i);
            int k = in.k;
            int jt = 0;
            int jf = 0;
            if (in.code == JMP_JA) {
                k = offset(i, in.jt, Integer.MAX_VALUE);
            } else if ((in.code & 0x07) == 0x05) {
                jt = offset(i, in.jt, 255);
                jf = offset(i, in.jf, 255);
            }
            int o = i * 8;
            out[o] = (byte) in.code;
            out[o + 1] = (byte) (in.code >>> 8);
            out[o + 2] = (byte) jt;
            out[o + 3] = (byte) jf;
            out[o + 4] = (byte) k;
            out[o + 5] = (byte) (k >>> 8);
            out[o + 6] = (byte) (k >>> 16);
            out[o + 7] = (byte) (k >>> 24);
        }
        return out;
    }

    private int offset(int from, String label, int max) {
        if (label == null) {
            return 0;
        }
        Integer target = labels.get(label);
        if (target == null) {
            throw new IllegalStateException("label " + label + " is never placed");
        }
        int off = target - from - 1;
        if (off < 0 || off > max) {
            throw new IllegalStateException("jump from " + from + " to " + label + " at " + target + " out of range");
        }
        return off;
    }
}
