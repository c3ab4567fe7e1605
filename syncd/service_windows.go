//go:build windows

package main

// `syncd agent` as a Windows service. The MSI (assets/dist/buergerkoffer.wxs)
// registers syncd.exe with the argument "agent" as service
// BuergerkofferSync, started automatically; when the service control
// manager starts it, main hands over to runService. Before the agent runs,
// the service makes what the installer cannot express (wixl has no
// permissions or failure actions):
//   - the clerks' local group (clerksGroup), if it is missing;
//   - the machine's data folder (%ProgramData%\Buergerkoffer, where the app
//     finds the field store too) with a protected ACL: SYSTEM and
//     Administrators full control, the clerks' group read, write and
//     delete, nobody else; inherited by the files in it;
//   - its own recovery actions: restart after 5 s, 30 s, 2 min, also when
//     it stopped with an error rather than crashed.
// Its log (no personal data, as everywhere) goes to syncd-agent.log there.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/buergerkoffer/kit/internal/store"
)

const (
	serviceName = "BuergerkofferSync"
	clerksGroup = "Buergerkoffer"
	maxLogBytes = 4 << 20
)

// runAsService runs syncd as the service when the service control manager
// started it; ok is false when it did not (a console, a script).
func runAsService(args []string) (code int, ok bool) {
	isService, err := svc.IsWindowsService()
	if err != nil || !isService {
		return 0, false
	}
	dir := filepath.Dir(store.DefaultPath())
	logw := openServiceLog(dir)
	log := slog.New(slog.NewTextHandler(logw, nil))
	if err := prepareMachine(dir); err != nil {
		// The agent may still run (an earlier start made the folder);
		// an operator finds the reason in the log.
		log.Error("syncd service: preparing the data folder", "dir", dir, "err", err)
	}
	if err := setRecovery(); err != nil {
		log.Warn("syncd service: recovery actions not set", "err", err)
	}
	s := &agentService{args: args, out: logw}
	if err := svc.Run(serviceName, s); err != nil {
		log.Error("syncd service", "err", err)
		return 2, true
	}
	return s.code, true
}

// agentService runs run(args) until the service control manager stops it.
type agentService struct {
	args []string
	out  io.Writer
	code int
}

func (s *agentService) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- run(ctx, s.args, s.out, s.out) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending, WaitHint: 15000}
				cancel()
				select {
				case s.code = <-done:
				case <-time.After(15 * time.Second):
				}
				return false, 0
			}
		case s.code = <-done:
			// The agent ended without being asked to: a failure, which
			// the recovery actions answer with a restart.
			if s.code == 0 {
				s.code = 1
			}
			return true, uint32(s.code)
		}
	}
}

// openServiceLog opens the service's log in dir, starting it afresh (the
// old one kept as .1) when it has grown past maxLogBytes.
func openServiceLog(dir string) io.Writer {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return io.Discard
	}
	path := filepath.Join(dir, "syncd-agent.log")
	if fi, err := os.Stat(path); err == nil && fi.Size() > maxLogBytes {
		_ = os.Rename(path, path+".1")
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return io.Discard
	}
	return f
}

// prepareMachine makes the clerks' group and the data folder with its ACL.
func prepareMachine(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	if err := ensureLocalGroup(clerksGroup, "Sachbearbeiterinnen und Sachbearbeiter, die den Bürgerkoffer benutzen"); err != nil {
		return err
	}
	return restrictDir(dir, clerksGroup)
}

var procNetLocalGroupAdd = windows.NewLazySystemDLL("netapi32.dll").NewProc("NetLocalGroupAdd")

// localGroupInfo1 is LOCALGROUP_INFO_1.
type localGroupInfo1 struct {
	name, comment *uint16
}

// ensureLocalGroup adds a local group unless it exists.
func ensureLocalGroup(name, comment string) error {
	const (
		errorAliasExists = 1379 // ERROR_ALIAS_EXISTS
		nerrGroupExists  = 2223 // NERR_GroupExists
	)
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return fmt.Errorf("group %s: %w", name, err)
	}
	c, err := windows.UTF16PtrFromString(comment)
	if err != nil {
		return fmt.Errorf("group %s: %w", name, err)
	}
	info := localGroupInfo1{name: n, comment: c}
	r, _, _ := procNetLocalGroupAdd.Call(0, 1, uintptr(unsafe.Pointer(&info)), 0)
	if r != 0 && r != errorAliasExists && r != nerrGroupExists {
		return fmt.Errorf("add local group %s: %w", name, windows.Errno(r))
	}
	return nil
}

// restrictDir gives dir (and, by inheritance, what is in it) a protected
// DACL: SYSTEM and Administrators full control, group modify.
func restrictDir(dir, group string) error {
	system, err := windows.CreateWellKnownSid(windows.WinLocalSystemSid)
	if err != nil {
		return fmt.Errorf("SYSTEM SID: %w", err)
	}
	admins, err := windows.CreateWellKnownSid(windows.WinBuiltinAdministratorsSid)
	if err != nil {
		return fmt.Errorf("Administrators SID: %w", err)
	}
	clerks, _, _, err := windows.LookupSID("", group)
	if err != nil {
		return fmt.Errorf("look up group %s: %w", group, err)
	}
	grant := func(sid *windows.SID, kind windows.TRUSTEE_TYPE, mask windows.ACCESS_MASK) windows.EXPLICIT_ACCESS {
		return windows.EXPLICIT_ACCESS{AccessPermissions: mask, AccessMode: windows.GRANT_ACCESS,
			Inheritance: windows.SUB_CONTAINERS_AND_OBJECTS_INHERIT,
			Trustee: windows.TRUSTEE{TrusteeForm: windows.TRUSTEE_IS_SID, TrusteeType: kind,
				TrusteeValue: windows.TrusteeValueFromSID(sid)}}
	}
	modify := windows.ACCESS_MASK(windows.FILE_GENERIC_READ | windows.FILE_GENERIC_WRITE | windows.FILE_GENERIC_EXECUTE | windows.DELETE)
	acl, err := windows.ACLFromEntries([]windows.EXPLICIT_ACCESS{
		grant(system, windows.TRUSTEE_IS_WELL_KNOWN_GROUP, windows.GENERIC_ALL),
		grant(admins, windows.TRUSTEE_IS_WELL_KNOWN_GROUP, windows.GENERIC_ALL),
		grant(clerks, windows.TRUSTEE_IS_GROUP, modify),
	}, nil)
	if err != nil {
		return fmt.Errorf("ACL of %s: %w", dir, err)
	}
	// PROTECTED: nothing inherited from ProgramData (where Users may read
	// and create); SetNamedSecurityInfo carries the entries down to the
	// files that are there already.
	if err := windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, acl, nil); err != nil {
		return fmt.Errorf("set ACL of %s: %w", dir, err)
	}
	return nil
}

// setRecovery makes the service control manager restart the agent after
// a failure, a crash or an exit with an error alike.
func setRecovery() error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service manager: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(serviceName)
	if err != nil {
		return fmt.Errorf("open service %s: %w", serviceName, err)
	}
	defer s.Close()
	err = s.SetRecoveryActions([]mgr.RecoveryAction{
		{Type: mgr.ServiceRestart, Delay: 5 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 30 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 2 * time.Minute},
	}, uint32((24 * time.Hour).Seconds()))
	if err != nil {
		return fmt.Errorf("recovery actions: %w", err)
	}
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		return fmt.Errorf("recovery on non-crash failures: %w", err)
	}
	return nil
}
