package dev.virtiofsd.linux.sandbox;

/** The architectures the daemon runs on, with the audit architecture a seccomp filter checks. */
public enum Arch {
    X86_64(0xc000003e),
    AARCH64(0xc00000b7);

    /** AUDIT_ARCH_*: the {@code arch} field of {@code struct seccomp_data}. */
    final int auditArch;

    Arch(int auditArch) {
        this.auditArch = auditArch;
    }

    /** This JVM's architecture. */
    public static Arch current() {
        String arch = System.getProperty("os.arch");
        switch (arch) {
            case "amd64":
            case "x86_64":
                return X86_64;
            case "aarch64":
                return AARCH64;
            default:
                throw new IllegalStateException("no seccomp allowlist for architecture " + arch);
        }
    }
}
