package dev.virtiofsd.launcher;

import static dev.virtiofsd.launcher.CommandLine.usage;

import java.util.ArrayList;
import java.util.List;

/** {@code -o LIST}: the legacy daemon's option list, as virtiofsd 1.13 and libvirt 9.0 use it. */
final class LegacyOptions {
    private LegacyOptions() {}

    /**
     * {@code -o} of the legacy daemon, as virtiofsd 1.13 reads it: a comma-separated list where each
     * key sets what the long option of the same meaning sets (so -o sandbox=chroot does what
     * --sandbox=chroot does). A doubled comma is a comma of the value (libvirt escapes commas in the
     * source path that way). Besides virtiofsd's keys, posix_lock and flock (libvirt's
     * {@code <lock posix='on' flock='on'/>}) turn on host locks, which this daemon has.
     */
    static void parse(Options o, String option, String list) throws UsageException {
        if (!o.compatOptions) {
            o.compatOptions = true;
            o.warnings.add("Use of deprecated option format '-o': Please specify options without it"
                    + " (e.g., '--cache auto' instead of '-o cache=auto')");
        }
        for (String item : splitLegacy(list)) {
            int eq = item.indexOf('=');
            if (eq >= 0) {
                String key = item.substring(0, eq);
                String value = item.substring(eq + 1);
                switch (key) {
                    case "source":
                        apply(o, "--shared-dir", key, value);
                        break;
                    case "xattrmap":
                        apply(o, "--xattrmap", key, value);
                        break;
                    case "modcaps":
                        apply(o, "--modcaps", key, value);
                        break;
                    case "cache":
                        switch (value) {
                            case "auto":
                            case "always":
                            case "metadata":
                                apply(o, "--cache", key, value);
                                break;
                            case "none":
                                apply(o, "--cache", key, "never");
                                break;
                            default:
                                throw legacyValue(key, value);
                        }
                        break;
                    case "loglevel":
                        switch (value) {
                            case "debug":
                            case "info":
                            case "warn":
                                apply(o, "--log-level", key, value);
                                break;
                            case "err":
                                apply(o, "--log-level", key, "error");
                                break;
                            default:
                                throw legacyValue(key, value);
                        }
                        break;
                    case "sandbox":
                        if (!value.equals("namespace") && !value.equals("chroot")) {
                            throw legacyValue(key, value);
                        }
                        apply(o, "--sandbox", key, value);
                        break;
                    default:
                        throw usage("Invalid compat argument '-o " + item + "'");
                }
                continue;
            }
            switch (item) {
                case "xattr":
                    o.xattr = true;
                    break;
                case "no_xattr":
                    o.xattr = false;
                    break;
                case "readdirplus":
                    o.noReaddirplus = false;
                    break;
                case "no_readdirplus":
                    o.noReaddirplus = true;
                    break;
                case "writeback":
                    o.writeback = true;
                    break;
                case "no_writeback":
                    o.writeback = false;
                    break;
                case "allow_direct_io":
                    o.allowDirectIo = true;
                    break;
                case "no_allow_direct_io":
                    o.allowDirectIo = false;
                    break;
                case "announce_submounts":
                    o.announceSubmounts = true;
                    break;
                case "killpriv_v2":
                    o.killprivV2 = true;
                    break;
                case "no_killpriv_v2":
                    o.killprivV2 = false;
                    break;
                case "posix_acl":
                    o.posixAcl = true;
                    break;
                case "no_posix_acl":
                    o.posixAcl = false;
                    break;
                case "security_label":
                    o.securityLabel = true;
                    break;
                case "no_security_label":
                    o.securityLabel = false;
                    break;
                case "posix_lock":
                    o.posixLocks = true;
                    break;
                case "no_posix_lock":
                    o.posixLocks = false;
                    break;
                case "flock":
                    o.flockLocks = true;
                    break;
                case "no_flock":
                    o.flockLocks = false;
                    break;
                default:
                    throw usage("Invalid compat argument '-o " + item + "'");
            }
        }
    }

    /** Splits at single commas; ",," stands for a comma inside an item. */
    static List<String> splitLegacy(String list) {
        List<String> items = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i < list.length(); i++) {
            char c = list.charAt(i);
            if (c == ',') {
                if (i + 1 < list.length() && list.charAt(i + 1) == ',') {
                    cur.append(',');
                    i++;
                    continue;
                }
                items.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        items.add(cur.toString());
        return items;
    }

    private static void apply(Options o, String longOption, String key, String value) throws UsageException {
        OptionTable.Spec spec = OptionTable.spec(longOption);
        if (spec == null) {
            throw usage("-o " + key + "=" + value + ": " + longOption + " is not supported by " + CommandLine.PROGRAM);
        }
        spec.setter().set(o, longOption, value);
    }

    private static UsageException legacyValue(String key, String value) {
        return usage("Invalid compat value '" + value + "' for '-o " + key + "'");
    }
}
