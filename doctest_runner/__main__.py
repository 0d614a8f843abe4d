from doctest_runner.cli import main

raise SystemExit(main())
