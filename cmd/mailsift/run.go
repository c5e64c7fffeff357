package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strings"

	"github.com/mailsift/mailsift/internal/config"
	"github.com/mailsift/mailsift/internal/filter"
	"github.com/mailsift/mailsift/internal/progress"
)

// Exit statuses.
const (
	exitOK      = 0
	exitPartial = 1 // the command ran, but some input could not be read
	exitError   = 2 // usage, configuration or database errors
)

const usage = `usage: mailsift [--config FILE] [--db FILE] [--classifier default|spamoracle] COMMAND [ARGS...]

Commands:
  train [--ham|--spam] FILE...   learn mail as good (ham) or spam; --ham and --spam
                                 switch the class for the files after them; --on-error
                                 learns only what it gets wrong, --until-no-error N
                                 [--thick T] re-learns until nothing is
  untrain FILE...                forget mail trained before
  test [--min P] [--max P] [--json] FILE...
                                 score each message and print a summary block
  mark [FILE...]                 copy a message from stdin (or the messages of the
                                 files) to stdout with X-Spam and X-Attachments added
  words [FILE...]                print the words of a message (stdin) or of the files
  list [--json] REGEXP...        show the words of the database matching the patterns
  stats [--json] [FILE...]       count good, unknown and spam mail per mailbox;
                                 without files, describe the database
  eval [--ham|--spam] DIR... [--folds K | --online] [--plot FILE.svg] [--json]
                                 train a fresh model on part of labelled mail, score
                                 the rest, report FP, FN, unsure, ROC AUC and speed;
                                 --train-list/--test-list ham:FILE name the parts;
                                 --classifier default|spamoracle|fisher|logreg, with
                                 --robs, --robx, --min-dev, --ham-cutoff, --spam-cutoff,
                                 --weight, --rate, --passes N --thick T
  analyze [--out SPEC]... [--workers N] [--unordered] FILE...
                                 write one JSON report per mail: headers, Received hops,
                                 defects, bodies, attachments, URLs, phishing, spam;
                                 SPEC is "-" (JSON lines on stdout, the default),
                                 jsonl:PATH, dir:PATH (a file per mail) or esbulk:PATH
                                 (Elasticsearch _bulk); the exit status is 1 when a
                                 mail could not be read
  serve [--http ADDR] [--milter ADDR] [--out SPEC]... [--nats URL | --embedded-nats]
                                 run the service: the HTTP API (127.0.0.1:8025), the
                                 milter (127.0.0.1:11332), reports to the sinks of the
                                 configuration and of --out (also redis://HOST:PORT and
                                 es+http://HOST:9200); SIGHUP reloads the configuration;
                                 --nats sends the milter's mails through the queue,
                                 --embedded-nats also runs the NATS server and workers
  submit [--nats URL] [--move DIR | --delete] [--watch [--interval D]] FILE...
                                 put mails in the NATS JetStream queue for the workers
                                 (nats://127.0.0.1:4222); --move/--delete once stored;
                                 --watch feeds the files that appear in directories
  worker [--nats URL] [--out SPEC]... [--results SUBJECT] [--workers N] [--metrics ADDR]
         [--until-empty]         analyse the queued mails and write the reports to the
                                 sinks (and to a NATS subject); run one per host or more;
                                 --until-empty exits once the queue is empty
  config check [FILE]            validate a configuration file
  config doc                     print every configuration key, documented, with its default
  backup                         write the database in SpamOracle's text format
  restore                        replace the database from that format on stdin
  help                           show this text

FILE may be an mbox (also gzip'd), a Maildir, an MH folder, a single message, or a
directory of any of these; "-" is standard input. The database is ~/.mailsift/tokens.db,
or --db, or $MAILSIFT_DB; the configuration is ~/.config/mailsift/config.yml or --config.
--cpuprofile FILE writes a Go CPU profile of the run, for performance work.
`

// env is what every command gets: the configuration, the streams, and the
// database path with the overrides applied.
type env struct {
	cfg        config.Config
	configPath string // as given with --config; "" for the default
	db         string
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
}

// bulk returns e with its standard output buffered, for a command that
// writes a record per message or word, and the function that writes out
// what is buffered, which the command calls before it returns, error or
// not. A terminal gets each record as it comes; a file or a pipe gets them
// in blocks, a write call per 64 kB instead of one per record.
func (e env) bulk() (env, func() error) {
	if progress.IsTerminal(e.stdout) {
		return e, func() error { return nil }
	}
	bw := bufio.NewWriterSize(e.stdout, 64<<10)
	e.stdout = bw
	return e, func() error {
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		return nil
	}
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// run is the whole program: it parses the global options, dispatches the
// command, and turns every failure, a panic included, into one line on
// stderr and an exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "mailsift: internal error: %v\n", r)
			if os.Getenv("MAILSIFT_DEBUG") != "" {
				stderr.Write(debug.Stack())
			}
			code = exitError
		}
	}()

	var configPath, dbPath, profile, classifier string
	for len(args) > 0 {
		name, value, hasValue := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
		if !strings.HasPrefix(args[0], "-") || (name != "config" && name != "db" && name != "f" && name != "cpuprofile" && name != "classifier") {
			break
		}
		if !hasValue {
			if len(args) < 2 {
				fmt.Fprintf(stderr, "mailsift: option %s needs a value\n", args[0])
				return exitError
			}
			value, args = args[1], args[1:]
		}
		args = args[1:]
		switch name {
		case "config":
			configPath = value
		case "cpuprofile":
			profile = value
		case "classifier":
			classifier = value
		default:
			dbPath = value
		}
	}
	if profile != "" {
		stop, err := startProfile(profile)
		if err != nil {
			fmt.Fprintf(stderr, "mailsift: %v\n", err)
			return exitError
		}
		defer stop()
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError
	}
	cmd, args := args[0], args[1:]
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	if cmd == "config" {
		return cmdConfig(configPath, args, stdout, stderr)
	}
	c, ok := commands[cmd]
	if !ok {
		fmt.Fprintf(stderr, "mailsift: unknown command %q (try \"mailsift help\")\n", cmd)
		return exitError
	}

	cfg, err := config.Load(configPath)
	if err == nil {
		err = overrideClassifier(&cfg, classifier)
	}
	if err != nil {
		if cmd == "mark" {
			// mark must pass the mail through whatever is wrong.
			cfg = config.Default()
			return markFailed(env{cfg: cfg, db: dbPath, stdin: stdin, stdout: stdout, stderr: stderr}, args, err)
		}
		fmt.Fprintf(stderr, "mailsift: %v\n", err)
		return exitError
	}
	e := env{cfg: cfg, configPath: configPath, db: cfg.DatabaseFile, stdin: stdin, stdout: stdout, stderr: stderr}
	if v := os.Getenv("MAILSIFT_DB"); v != "" {
		e.db = v
	}
	if dbPath != "" {
		e.db = dbPath
	}
	code, err = c(e, args)
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "mailsift %s: %v\n", cmd, err)
		} else {
			fmt.Fprintf(stderr, "mailsift: %v\n", err)
		}
		if code == exitOK {
			code = exitError
		}
	}
	return code
}

// startProfile writes a CPU profile of the run to path.
func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return nil, errors.Join(fmt.Errorf("cpuprofile: %w", err), f.Close())
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

// A command returns its exit status, and an error to print.
type command func(e env, args []string) (int, error)

var commands map[string]command

func init() {
	commands = map[string]command{
		"analyze": cmdAnalyze,
		"train":   cmdTrain,
		"add":     cmdTrain,
		"untrain": cmdUntrain,
		"test":    cmdTest,
		"mark":    cmdMark,
		"words":   cmdWords,
		"list":    cmdList,
		"stats":   cmdStats,
		"stat":    cmdStats,
		"eval":    cmdEval,
		"backup":  cmdBackup,
		"restore": cmdRestore,
		"serve":   cmdServe,
		"submit":  cmdSubmit,
		"worker":  cmdWorker,
	}
}

// overrideClassifier applies $MAILSIFT_CLASSIFIER, then --classifier, to the
// configuration.
func overrideClassifier(cfg *config.Config, flag string) error {
	for _, v := range []string{os.Getenv("MAILSIFT_CLASSIFIER"), flag} {
		if v == "" {
			continue
		}
		if v != filter.Default && v != filter.SpamOracle {
			return fmt.Errorf("classifier %q: use %q or %q", v, filter.Default, filter.SpamOracle)
		}
		cfg.Classifier = v
	}
	return nil
}
