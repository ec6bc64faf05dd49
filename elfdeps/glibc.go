package elfdeps

// What glibc loads and reads at run time that no DT_NEEDED entry names.
//
// Found on Debian 12 (glibc 2.36-9+deb12u14, amd64) with
// `strace -f -e trace=openat,open,execve` on small C programs, on the host
// and in a chroot holding only the loader, libc.so.6 and the program. The
// lines below are what strace printed (ld.so.cache and libc.so.6 lines left out).
//
// NSS. nss_files and nss_dns are built into libc.so.6: it exports
// _nss_files_getpwnam_r and _nss_dns_gethostbyname4_r (GLIBC_PRIVATE), and
// libnss_files.so.2 and libnss_dns.so.2 are 14 kB stubs. getaddrinfo("localhost"),
// getpwnam("root") and getgrnam("root") with nsswitch.conf "hosts: files dns",
// "passwd: files systemd":
//
//	openat(AT_FDCWD, "/etc/host.conf", O_RDONLY|O_CLOEXEC) = 3
//	openat(AT_FDCWD, "/etc/resolv.conf", O_RDONLY|O_CLOEXEC) = 3
//	openat(AT_FDCWD, "/etc/nsswitch.conf", O_RDONLY|O_CLOEXEC) = 3
//	openat(AT_FDCWD, "/etc/hosts", O_RDONLY|O_CLOEXEC) = 3
//	openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3
//	openat(AT_FDCWD, "/etc/group", O_RDONLY|O_CLOEXEC) = 3
//
// No NSS module is opened. A DNS lookup (hosts: dns files, a name not in
// /etc/hosts) opens no module and no libresolv either. Only a source that
// is not built in is loaded, e.g. "systemd" for a user not in /etc/passwd:
//
//	openat(AT_FDCWD, "/lib/x86_64-linux-gnu/libnss_systemd.so.2", O_RDONLY|O_CLOEXEC) = 3
//
// So scratchpack writes its own /etc/nsswitch.conf naming only files and
// dns, and adds libnss_files.so.2 / libnss_dns.so.2 only for a libc that
// does not define the _nss_files_ / _nss_dns_ functions itself (glibc
// before 2.34; their libnss_dns.so.2 needs libresolv.so.2, which its
// closure brings). In the chroot, with no /etc at all:
//
//	openat(AT_FDCWD, "/etc/nsswitch.conf", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)
//	openat(AT_FDCWD, "/etc/hosts", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)
//	connect(3, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
//	getaddrinfo: Temporary failure in name resolution
//
// (without nsswitch.conf glibc 2.36 reads /etc/hosts and then asks DNS; a
// static glibc program behaves the same, its nss_files is linked in). With
// /etc/hosts, /etc/passwd and /etc/group and no nsswitch.conf, all three
// lookups succeed. /etc/host.conf, /etc/resolv.conf and /etc/gai.conf are
// optional; the container runtime provides resolv.conf.
//
// Unwinding. pthread_cancel, pthread_exit and backtrace dlopen libgcc_s.so.1:
//
//	[pid 19344] openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3
//	[pid 19344] openat(AT_FDCWD, "/lib/x86_64-linux-gnu/libgcc_s.so.1", O_RDONLY|O_CLOEXEC) = 3
//
// Without it pthread_cancel and pthread_exit abort (exit 134) with
// "libgcc_s.so.1 must be installed for pthread_cancel to work" (or
// "... for pthread_exit to work"); backtrace silently returns 0 frames.
//
// iconv. iconv_open("UTF-8", "ISO-8859-15"):
//
//	openat(AT_FDCWD, "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache", O_RDONLY) = 3
//	openat(AT_FDCWD, "/usr/lib/x86_64-linux-gnu/gconv/ISO8859-15.so", O_RDONLY|O_CLOEXEC) = 3
//
// Without the gconv directory (its path is compiled into libc.so.6) only
// ASCII, UTF-8, UCS-2, UCS-4 and WCHAR_T convert; UTF-16, UTF-32 and every
// 8-bit charset fail with EINVAL ("iconv_open: Invalid argument"). Which
// charset a program will ask for is not knowable, so the whole directory
// (8 MB: 256 modules, their configuration and cache) is added.
//
// Merged libraries. libpthread.so.0, libdl.so.2, librt.so.1, libutil.so.1 and
// libanl.so.1 are 14 kB stubs since 2.34: their functions live in libc.so.6,
// and a program linked against them still names them in DT_NEEDED, so the
// closure has them already. libresolv.so.2 (60 kB) is still a real library,
// loaded only through DT_NEEDED.

// nssDatabases maps the libc functions that look things up through NSS to
// the database they read.
var nssDatabases = map[string]string{
	"getaddrinfo": "hosts", "getaddrinfo_a": "hosts", "getnameinfo": "hosts",
	"gethostbyname": "hosts", "gethostbyname_r": "hosts", "gethostbyname2": "hosts", "gethostbyname2_r": "hosts",
	"gethostbyaddr": "hosts", "gethostbyaddr_r": "hosts", "gethostent": "hosts", "gethostent_r": "hosts",
	"getpwnam": "passwd", "getpwnam_r": "passwd", "getpwuid": "passwd", "getpwuid_r": "passwd",
	"getpwent": "passwd", "getpwent_r": "passwd",
	"getgrnam": "group", "getgrnam_r": "group", "getgrgid": "group", "getgrgid_r": "group",
	"getgrent": "group", "getgrent_r": "group", "getgrouplist": "group", "initgroups": "group",
	"getspnam": "shadow", "getspnam_r": "shadow",
	"getservbyname": "services", "getservbyname_r": "services", "getservbyport": "services",
	"getservbyport_r": "services", "getservent": "services",
	"getprotobyname": "protocols", "getprotobyname_r": "protocols", "getprotobynumber": "protocols",
	"getprotobynumber_r": "protocols", "getprotoent": "protocols",
}

// unwindFunctions make glibc dlopen libgcc_s.so.1.
var unwindFunctions = []string{"pthread_cancel", "pthread_exit", "backtrace"}

// iconvFunctions make glibc load gconv modules.
var iconvFunctions = []string{"iconv_open"}

// localTimeFunctions convert to local time, which reads the zone TZ names.
var localTimeFunctions = []string{"localtime", "localtime_r", "mktime", "timelocal", "tzset", "ctime", "ctime_r", "strftime", "strftime_l"}

// ignoredImports are imports that do not signal a need: libstdc++ imports
// iconv_open for the GNU codecvt<…, encoding_state> extension only, which
// almost no program uses; counting it would add 8 MB of gconv modules to
// every C++ program.
var ignoredImports = map[string]map[string]bool{
	"libstdc++.so.6": {"iconv_open": true},
}

// nssBuiltins are the functions that show nss_files and nss_dns built into libc.so.6.
const (
	nssFilesBuiltin = "_nss_files_getpwnam_r"
	nssDNSBuiltin   = "_nss_dns_gethostbyname4_r"
)

// triggerNames lists every function the needs tables react to, for reading
// a static program's .symtab.
func triggerNames() []string {
	var out []string
	for n := range nssDatabases {
		out = append(out, n)
	}
	out = append(out, unwindFunctions...)
	out = append(out, iconvFunctions...)
	out = append(out, localTimeFunctions...)
	return append(out, "dlopen")
}
