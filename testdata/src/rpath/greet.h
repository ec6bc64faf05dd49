// greet.h: the interface of libgreet.so.1, the rpath fixture's private library.
#ifndef GREET_H
#define GREET_H

void greet(void);

#endif
