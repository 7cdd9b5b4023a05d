package inspect

import "github.com/hotdeploy/hotdeploy/model"

// AssembleForTest builds an instance from root with children from kids, as a refresh does.
func (s *Scanner) AssembleForTest(root model.Process, kids func(pid int) []model.Process) model.Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.assemble(root, kids)
}
