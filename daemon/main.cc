#include "daemon/cli.h"

int main(int argc, char** argv) { return abusewatch::RunCli(argc, argv); }
