// hello.cc: a C++ fixture that needs libstdc++.so.6, libm.so.6, libgcc_s.so.1 and
// libc.so.6 (the Makefile links it with -Wl,--no-as-needed so all four stay NEEDED).
#include <cmath>
#include <iostream>
#include <string>
#include <vector>

int main() {
	// volatile keeps the compiler from folding sqrt at build time: the call goes to libm.
	volatile double four = 4.0;
	std::vector<std::string> words{"hello", "from", "C++"};
	std::string line;
	for (const auto &w : words) {
		if (!line.empty()) {
			line += ' ';
		}
		line += w;
	}
	if (std::sqrt(four) != 2.0) {
		return 1;
	}
	std::cout << line << std::endl;
	return 0;
}
