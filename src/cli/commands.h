/* commands.h — the gad subcommands; each returns the process exit status. */
#ifndef GAD_CLI_COMMANDS_H
#define GAD_CLI_COMMANDS_H

#include "gad/gad.h"

int gad_cmd_info(int argc, char **argv);
int gad_cmd_predict(int argc, char **argv);
int gad_cmd_attribute(int argc, char **argv);
int gad_cmd_fit(int argc, char **argv);
int gad_cmd_explain(int argc, char **argv);
int gad_cmd_eval(int argc, char **argv);
int gad_cmd_demo(int argc, char **argv);

/* Print "gad: <message>" on stderr and return the failure exit status (1). */
int gad_cli_fail(const gad_err *err);
int gad_cli_fail_msg(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

#endif
