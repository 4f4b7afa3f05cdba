import sys

from nemo_desk.app import main

sys.exit(main())
